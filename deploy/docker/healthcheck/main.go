// Command healthcheck is the probe the service images carry for
// docker-compose healthchecks: the images are distroless (no shell, curl or
// wget), so `healthcheck http://127.0.0.1:8082/readyz` does the GET and
// exits 0 on a 2xx answer, 1 otherwise. Kubernetes probes the same URLs
// with httpGet and does not need it.
//
// It imports the standard library only and is built outside any module:
// `go build -o healthcheck deploy/docker/healthcheck/main.go`.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if err := check(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

func check(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: healthcheck http://127.0.0.1:PORT/readyz")
	}
	client := &http.Client{Timeout: 3 * time.Second}
	res, err := client.Get(args[0])
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", args[0], res.Status)
	}
	return nil
}
