// Package expreval evaluates the expressions and {{ }} templates of workflow
// parameters with expr-lang (github.com/expr-lang/expr). expr-lang is the
// safe expression library: no statements, no I/O, no access to the process;
// programs are bounded in size (MaxNodes) and in memory while running
// (expr's default memory budget), and only expr's own pure builtins
// (len, upper, filter, map, sum, toJSON, fromJSON, now, date …) are offered.
//
// The environment an expression sees:
//
//	input      the node's input: the output of the upstream node that fed it
//	item       FILTER only: the list element being tested
//	nodes      the outputs of the nodes that finished before, by node name
//	execution  {id, workflow_id, inputs}
package expreval

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
)

// Env is the variables an expression may use.
type Env map[string]any

// maxProgramNodes bounds an expression's syntax tree (expr's default is
// 10 000; parameters are at most 4 KiB, so this only stops pathological ones).
const maxProgramNodes = 2000

// ErrExpression is wrapped by every compile and evaluation error.
var ErrExpression = errors.New("expression")

// Eval compiles and runs one expression.
func Eval(src string, env Env) (any, error) {
	prog, err := expr.Compile(src, expr.Env(map[string]any(env)), expr.MaxNodes(maxProgramNodes), expr.Timezone("UTC"))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrExpression, src, firstLine(err))
	}
	out, err := expr.Run(prog, map[string]any(env))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrExpression, src, firstLine(err))
	}
	return out, nil
}

// EvalBool runs a condition, which must yield a boolean.
func EvalBool(src string, env Env) (bool, error) {
	v, err := Eval(src, env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w %q: want a boolean, got %s", ErrExpression, src, typeName(v))
	}
	return b, nil
}

// firstLine drops expr's source excerpt with a caret, which is noise in an
// event's one-line error.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case int, int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// HasTemplate reports whether s contains a {{ }} part.
func HasTemplate(s string) bool {
	i := strings.Index(s, "{{")
	return i >= 0 && strings.Contains(s[i+2:], "}}")
}

// Render fills a template's {{ expression }} parts. A template that is one
// part and nothing else yields the expression's value as is (so a body field
// "{{ input.count }}" stays a number); otherwise values are written into the
// text, strings as they are and everything else as JSON.
func Render(tmpl string, env Env) (any, error) {
	if !HasTemplate(tmpl) {
		return tmpl, nil
	}
	trimmed := strings.TrimSpace(tmpl)
	if strings.HasPrefix(trimmed, "{{") && strings.HasSuffix(trimmed, "}}") && strings.Count(trimmed, "{{") == 1 {
		return Eval(strings.TrimSpace(trimmed[2:len(trimmed)-2]), env)
	}
	var b strings.Builder
	rest := tmpl
	for {
		start := strings.Index(rest, "{{")
		if start < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.Index(rest[start+2:], "}}")
		if end < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:start])
		v, err := Eval(strings.TrimSpace(rest[start+2:start+2+end]), env)
		if err != nil {
			return nil, err
		}
		b.WriteString(Text(v))
		rest = rest[start+2+end+2:]
	}
	return b.String(), nil
}

// RenderString renders a template that must yield text (a URL, a prompt).
func RenderString(tmpl string, env Env) (string, error) {
	v, err := Render(tmpl, env)
	if err != nil {
		return "", err
	}
	return Text(v), nil
}

// RenderAll renders every string inside v (objects and lists are walked),
// returning a new value; v is not modified.
func RenderAll(v any, env Env) (any, error) {
	switch x := v.(type) {
	case string:
		return Render(x, env)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := RenderAll(e, env)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := RenderAll(e, env)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// Text is how a value is written into a template: strings as they are,
// null as nothing, everything else as JSON.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
