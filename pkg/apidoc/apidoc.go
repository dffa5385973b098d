// Package apidoc holds the OpenAPI 3.1 document of the whole gateway API,
// hand-written in openapi.json and embedded, plus the helpers that keep it
// honest: every service's tests compare their registered routes with it
// (CheckRoutes) and their responses with its schemas (CheckResponse).
// A layer that adds routes adds them to openapi.json in the same change.
package apidoc

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.json
var raw []byte

// compact is the document without the indentation, as served.
var compact = func() []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		// The tests parse the document; a broken file never ships.
		panic("apidoc: openapi.json is not JSON: " + err.Error())
	}
	return b.Bytes()
}()

// JSON returns the document. Callers must not modify the slice.
func JSON() []byte { return compact }

// Operation is one documented method on one path template ({param} style).
type Operation struct {
	Method string // upper case, e.g. GET
	Path   string
}

func (o Operation) String() string { return o.Method + " " + o.Path }

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// doc is the part of the document the helpers read.
type doc struct {
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

func parse() (doc, error) {
	var d doc
	err := json.Unmarshal(raw, &d)
	return d, err
}

// Operations lists every documented operation, sorted by path then method.
func Operations() []Operation {
	d, err := parse()
	if err != nil {
		return nil
	}
	var ops []Operation
	for path, item := range d.Paths {
		for m := range item {
			if slices.Contains(methods, m) {
				ops = append(ops, Operation{Method: strings.ToUpper(m), Path: path})
			}
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return ops
}

// operational paths are for probes and scrapers, not API clients; they are
// never documented.
var operational = []string{"/healthz", "/readyz", "/metrics"}

// TemplateOf turns a gin route pattern into an OpenAPI path template:
// /a/:id/*rest becomes /a/{id}/{rest}.
func TemplateOf(ginPath string) string {
	parts := strings.Split(ginPath, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func under(prefix, path string) bool {
	return prefix == "" || path == prefix || strings.HasPrefix(path, strings.TrimSuffix(prefix, "/")+"/")
}

// CheckRoutes compares the routes a service registers under prefix (e.g.
// "/api/public") with the document, both ways: a served route the document
// lacks, and a documented operation under prefix that no route serves.
// /healthz, /readyz and /metrics are ignored.
func CheckRoutes(prefix string, routes gin.RoutesInfo) error {
	served := map[Operation]bool{}
	for _, r := range routes {
		if slices.Contains(operational, r.Path) || !under(prefix, r.Path) {
			continue
		}
		served[Operation{Method: r.Method, Path: TemplateOf(r.Path)}] = true
	}
	documented := map[Operation]bool{}
	for _, op := range Operations() {
		if under(prefix, op.Path) {
			documented[op] = true
		}
	}
	var errs []error
	for op := range served {
		if !documented[op] {
			errs = append(errs, fmt.Errorf("served but not in openapi.json: %s", op))
		}
	}
	for op := range documented {
		if !served[op] {
			errs = append(errs, fmt.Errorf("in openapi.json but not served: %s", op))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	if len(served) == 0 && len(errs) == 0 {
		return errors.New("no routes under " + prefix + ": wrong prefix?")
	}
	return errors.Join(errs...)
}
