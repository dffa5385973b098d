package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
)

// files answers the original design's reserved /files routes: not built.
func (h *handlers) files(*gin.Context) error {
	return apperr.New(apperr.Unimplemented, "not_implemented", "file storage is reserved in the API and not implemented yet")
}
