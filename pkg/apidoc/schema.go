package apidoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The document's own schemas are checked with a small JSON Schema subset
// rather than a validator library: type (incl. type arrays for null), enum,
// const, required, properties, additionalProperties, items, minimum,
// maxLength, format date-time, allOf/anyOf/oneOf and local $ref. Keywords
// outside it are ignored, so a later layer that needs one adds it here.

// decode parses JSON keeping numbers exact, so integer can be told from number.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

var tree = func() any {
	v, err := decode(raw)
	if err != nil {
		panic("apidoc: openapi.json is not JSON: " + err.Error())
	}
	return v
}()

// resolve follows a local JSON pointer such as #/components/schemas/Error.
func resolve(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q: only local references are used", ref)
	}
	cur := tree
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

// deref resolves a Reference Object (response, parameter, header …).
func deref(v any) (map[string]any, error) {
	for range 16 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want an object, got %T", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		var err error
		if v, err = resolve(ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// validate checks value against schema; at is the JSON path for messages.
func validate(schema, value any, at string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		if b, isBool := schema.(bool); isBool {
			if b {
				return nil
			}
			return fmt.Errorf("%s: not allowed", at)
		}
		return fmt.Errorf("%s: schema is %T", at, schema)
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := resolve(ref)
		if err != nil {
			return err
		}
		if err := validate(target, value, at); err != nil {
			return err
		}
	}
	if err := checkType(s, value, at); err != nil {
		return err
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return sameJSON(e, value) }) {
		return fmt.Errorf("%s: %v is not one of %v", at, value, enum)
	}
	if c, ok := s["const"]; ok && !sameJSON(c, value) {
		return fmt.Errorf("%s: want %v", at, c)
	}
	if err := checkCombinators(s, value, at); err != nil {
		return err
	}
	switch x := value.(type) {
	case map[string]any:
		return checkObject(s, x, at)
	case []any:
		if items, ok := s["items"]; ok {
			for i, e := range x {
				if err := validate(items, e, at+"["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
		}
	case string:
		if max, ok := s["maxLength"].(json.Number); ok {
			if n, _ := max.Int64(); int64(utf8.RuneCountInString(x)) > n {
				return fmt.Errorf("%s: longer than %d", at, n)
			}
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339, x); err != nil {
				return fmt.Errorf("%s: %q is not an RFC 3339 date-time", at, x)
			}
		}
	case json.Number:
		if min, ok := s["minimum"].(json.Number); ok {
			m, _ := min.Float64()
			if f, _ := x.Float64(); f < m {
				return fmt.Errorf("%s: %s is below the minimum %s", at, x, min)
			}
		}
	}
	return nil
}

func checkType(s map[string]any, value any, at string) error {
	var want []string
	switch t := s["type"].(type) {
	case string:
		want = []string{t}
	case []any:
		for _, e := range t {
			if str, ok := e.(string); ok {
				want = append(want, str)
			}
		}
	default:
		return nil
	}
	got := typeOf(value)
	if slices.Contains(want, got) || (got == "integer" && slices.Contains(want, "number")) {
		return nil
	}
	return fmt.Errorf("%s: got %s, want %s", at, got, strings.Join(want, " or "))
}

func checkCombinators(s map[string]any, value any, at string) error {
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			if err := validate(sub, value, at); err != nil {
				return err
			}
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok && !slices.ContainsFunc(anyOf, func(sub any) bool { return validate(sub, value, at) == nil }) {
		return fmt.Errorf("%s: matches none of anyOf", at)
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range oneOf {
			if validate(sub, value, at) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: matches %d of oneOf, want exactly 1", at, n)
		}
	}
	return nil
}

func checkObject(s map[string]any, obj map[string]any, at string) error {
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if name, _ := r.(string); name != "" {
				if _, ok := obj[name]; !ok {
					return fmt.Errorf("%s: missing required %q", at, name)
				}
			}
		}
	}
	props, _ := s["properties"].(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if p, ok := props[k]; ok {
			if err := validate(p, obj[k], at+"."+k); err != nil {
				return err
			}
			continue
		}
		if extra, ok := s["additionalProperties"]; ok {
			if b, isBool := extra.(bool); isBool && !b {
				return fmt.Errorf("%s: property %q is not documented", at, k)
			}
			if err := validate(extra, obj[k], at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckResponse validates a JSON response body against the schema the
// document gives for method, path template and status (falling back to the
// status class such as "4XX", then "default").
func CheckResponse(method, path string, status int, body []byte) error {
	op, err := operation(method, path)
	if err != nil {
		return err
	}
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	resp, ok := responses[code]
	if !ok {
		resp, ok = responses[code[:1]+"XX"]
	}
	if !ok {
		resp, ok = responses["default"]
	}
	if !ok {
		return fmt.Errorf("%s %s: status %d is not documented", method, path, status)
	}
	r, err := deref(resp)
	if err != nil {
		return err
	}
	content, _ := r["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s %d: no application/json content documented", method, path, status)
	}
	value, err := decode(body)
	if err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %w", method, path, status, err)
	}
	if err := validate(media["schema"], value, "$"); err != nil {
		return fmt.Errorf("%s %s %d: %w", method, path, status, err)
	}
	return nil
}

func operation(method, path string) (map[string]any, error) {
	paths, _ := tree.(map[string]any)["paths"].(map[string]any)
	item, ok := paths[path].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("path %s is not documented", path)
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s is not documented", method, path)
	}
	return op, nil
}
