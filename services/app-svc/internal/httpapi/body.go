package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
)

// maxBodyDepth bounds the nesting of any JSON body, far below
// encoding/json's own 10000, so hostile bodies fail early and cheaply.
// Node parameters have their own, tighter bound (nodes.MaxParametersDepth).
const maxBodyDepth = 64

// requireJSON runs before handlers that read a body: the body must be
// declared application/json (UTF-8) and fit MaxBodyBytes.
func (h *handlers) requireJSON(c *gin.Context) {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		abortUnsupportedMediaType(c, "the request body must be JSON: send Content-Type: application/json")
		return
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		abortUnsupportedMediaType(c, "JSON bodies are UTF-8: charset "+cs+" is not accepted")
		return
	}
	if c.Request.ContentLength > h.MaxBodyBytes {
		_ = c.Error(tooLarge(h.MaxBodyBytes))
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.MaxBodyBytes)
	c.Next()
}

func tooLarge(limit int64) *apperr.Error {
	return apperr.New(apperr.TooLarge, "request_too_large", fmt.Sprintf("the request body exceeds %d bytes", limit))
}

func invalidJSON(message string) *apperr.Error {
	return apperr.New(apperr.InvalidArgument, "invalid_json", message)
}

// decode reads the whole body into dst strictly: valid UTF-8, one JSON
// value, bounded nesting, no field dst does not know, every value of the
// type dst expects. Nothing is stored before it succeeds.
func decode(c *gin.Context, dst any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge(tooBig.Limit)
		}
		return apperr.BadRequest("the request body could not be read").Wrap(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidJSON("the request body is empty: send a JSON object")
	}
	if !utf8.Valid(body) {
		return invalidJSON("the request body is not valid UTF-8")
	}
	if depth(body) > maxBodyDepth {
		return invalidJSON(fmt.Sprintf("the request body is nested deeper than %d levels", maxBodyDepth))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidJSON("the request body holds more than one JSON value")
	}
	return nil
}

// jsonError explains a decoding failure: a malformed document is
// invalid_json; a well-formed one with the wrong shape is a
// validation_error naming the field.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidJSON(fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidJSON("the JSON body ends early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apperr.Validation(apperr.FieldError{Field: "body", Message: "must be a JSON object"})
		}
		return apperr.Validation(apperr.FieldError{Field: typ.Field, Message: fmt.Sprintf("must be %s, got %s", jsonType(typ.Type.String()), typ.Value)})
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return apperr.Validation(apperr.FieldError{Field: strings.Trim(name, `"`), Message: "unknown field"})
	}
	return invalidJSON("the request body is not valid JSON").Wrap(err)
}

// jsonType names a Go type the way a JSON client thinks of it.
func jsonType(goType string) string {
	switch {
	case goType == "string", goType == "uuid.UUID", goType == "time.Time":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// depth is the deepest nesting of objects and arrays in a JSON document
// (strings skipped), without decoding it.
func depth(b []byte) int {
	d, maxD, inString, escaped := 0, 0, false, false
	for _, ch := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
		case ch == '"':
			inString = true
		case ch == '{' || ch == '[':
			d++
			maxD = max(maxD, d)
		case ch == '}' || ch == ']':
			d--
		}
	}
	return maxD
}
