package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/wfagent/gateway/pkg/apperr"
)

// statusClientClosed is nginx's code for a client that left before the
// answer; it only reaches the access log and metrics.
const statusClientClosed = 499

// classify turns a transport error into the error the client sees.
func classify(layer string, err error) *apperr.Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.New(apperr.TooLarge, "request_too_large",
			fmt.Sprintf("the request body exceeds the limit of %d bytes", tooBig.Limit)).Wrap(err)
	}
	// Timeouts first: a dial timeout is a slow upstream to the client, as
	// it is to nginx and Kong (504).
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return apperr.New(apperr.DeadlineExceeded, "upstream_timeout",
			fmt.Sprintf("the %s service did not answer in time", layer)).Wrap(err)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return apperr.New(apperr.BadGateway, "upstream_unavailable",
			fmt.Sprintf("the %s service is unavailable", layer)).Wrap(err)
	}
	return apperr.New(apperr.BadGateway, "bad_gateway",
		fmt.Sprintf("the %s service failed to answer", layer)).Wrap(err)
}
