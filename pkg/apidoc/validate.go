package apidoc

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Validate checks that the document is well-formed OpenAPI 3.1 as far as
// this project relies on it: the required top-level fields, every $ref
// resolving, unique operation ids, every path template parameter declared,
// every operation answering something, and every example matching its
// schema. It runs in the package tests, so a broken edit fails CI.
func Validate() error {
	root, ok := tree.(map[string]any)
	if !ok {
		return errors.New("document is not a JSON object")
	}
	var errs []error
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		errs = append(errs, fmt.Errorf("openapi = %q, want 3.1.x", v))
	}
	info, _ := root["info"].(map[string]any)
	for _, f := range []string{"title", "version"} {
		if s, _ := info[f].(string); s == "" {
			errs = append(errs, fmt.Errorf("info.%s is required", f))
		}
	}
	paths, ok := root["paths"].(map[string]any)
	if !ok {
		errs = append(errs, errors.New("paths is required"))
	}
	ids := map[string]string{}
	for path, item := range paths {
		errs = append(errs, checkPath(path, item, ids)...)
	}
	walk(root, "#", func(at string, m map[string]any) {
		if ref, ok := m["$ref"].(string); ok {
			if _, err := resolve(ref); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
			}
		}
		errs = append(errs, checkExamples(at, m)...)
	})
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return errors.Join(errs...)
}

var templateParam = regexp.MustCompile(`\{([^}/]+)\}`)

func checkPath(path string, item any, ids map[string]string) []error {
	var errs []error
	if !strings.HasPrefix(path, "/") {
		errs = append(errs, fmt.Errorf("path %q must start with /", path))
	}
	it, ok := item.(map[string]any)
	if !ok {
		return append(errs, fmt.Errorf("%s: path item is not an object", path))
	}
	shared := pathParams(it["parameters"])
	for m, raw := range it {
		if !slices.Contains(methods, m) {
			continue
		}
		op, ok := raw.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("%s %s: not an object", m, path))
			continue
		}
		where := strings.ToUpper(m) + " " + path
		id, _ := op["operationId"].(string)
		switch {
		case id == "":
			errs = append(errs, fmt.Errorf("%s: operationId is required here", where))
		case ids[id] != "":
			errs = append(errs, fmt.Errorf("%s: operationId %q already used by %s", where, id, ids[id]))
		default:
			ids[id] = where
		}
		if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no responses", where))
		}
		declared := pathParams(op["parameters"])
		for _, p := range templateParam.FindAllStringSubmatch(path, -1) {
			if !shared[p[1]] && !declared[p[1]] {
				errs = append(errs, fmt.Errorf("%s: path parameter %q is not declared (in: path, required: true)", where, p[1]))
			}
		}
	}
	return errs
}

// pathParams are the names of required in:path parameters in a list.
func pathParams(list any) map[string]bool {
	out := map[string]bool{}
	ps, _ := list.([]any)
	for _, p := range ps {
		m, err := deref(p)
		if err != nil {
			continue
		}
		if name, _ := m["name"].(string); m["in"] == "path" && m["required"] == true {
			out[name] = true
		}
	}
	return out
}

// checkExamples validates the example(s) of a Media Type or Parameter
// object (anything with both schema and example/examples) against its schema.
func checkExamples(at string, m map[string]any) []error {
	schema, ok := m["schema"]
	if !ok {
		return nil
	}
	var errs []error
	if ex, ok := m["example"]; ok {
		if err := validate(schema, ex, at+"/example"); err != nil {
			errs = append(errs, err)
		}
	}
	exs, _ := m["examples"].(map[string]any)
	for name, e := range exs {
		obj, err := deref(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/examples/%s: %w", at, name, err))
			continue
		}
		if v, ok := obj["value"]; ok {
			if err := validate(schema, v, at+"/examples/"+name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// walk visits every object in the document with its JSON pointer.
func walk(v any, at string, fn func(at string, m map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(at, x)
		for k, e := range x {
			walk(e, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), fn)
		}
	case []any:
		for i, e := range x {
			walk(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}
