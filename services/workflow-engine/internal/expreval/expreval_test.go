package expreval

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func env() Env {
	return Env{
		"input":     map[string]any{"price": 2.5, "qty": 4.0, "name": "Ada", "tags": []any{"a", "b"}, "priority": "high"},
		"nodes":     map[string]any{"Start": map[string]any{"user": "u1"}},
		"execution": map[string]any{"id": "e1", "workflow_id": "w1", "inputs": map[string]any{"x": 1.0}},
	}
}

func TestEval(t *testing.T) {
	tests := []struct {
		src     string
		want    any
		wantErr string
	}{
		{"input.price * input.qty", 10.0, ""},
		{"upper(input.name)", "ADA", ""},
		{"len(input.tags)", 2, ""},
		{"input.priority == 'high'", true, ""},
		{`nodes.Start.user + "-" + execution.id`, "u1-e1", ""},
		{"input.missing", nil, ""},
		{"input?.missing?.deeper", nil, ""},
		{"item.status", nil, "unknown name item"},
		{"input.price *", nil, "unexpected token"},
		{"input.missing.deeper", nil, "cannot fetch deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := Eval(tt.src, env())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrExpression) {
					t.Fatalf("err = %v, want ErrExpression containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	if ok, err := EvalBool("input.price > 2", env()); err != nil || !ok {
		t.Fatalf("got %v %v", ok, err)
	}
	if _, err := EvalBool("input.price", env()); err == nil || !strings.Contains(err.Error(), "want a boolean, got a number") {
		t.Fatalf("non-boolean condition: %v", err)
	}
}

func TestResourceBounds(t *testing.T) {
	huge := strings.Repeat("1 + ", 3000) + "1"
	if _, err := Eval(huge, env()); err == nil {
		t.Fatal("an expression over the node budget compiled")
	}
	if _, err := Eval("map(1..1000000, {# * 2})", env()); err == nil || !strings.Contains(err.Error(), "memory budget") {
		t.Fatalf("an expression over the memory budget ran: %v", err)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		tmpl string
		want any
	}{
		{"plain", "plain"},
		{"{{ input.qty }}", 4.0},
		{" {{input.name}} ", "Ada"},
		{"https://api.example.com/users/{{ nodes.Start.user }}?n={{ input.qty }}", "https://api.example.com/users/u1?n=4"},
		{"tags: {{ input.tags }}", `tags: ["a","b"]`},
		{"{{ input.missing }}!", "!"},
		{"unclosed {{ input", "unclosed {{ input"},
	}
	for _, tt := range tests {
		got, err := Render(tt.tmpl, env())
		if err != nil {
			t.Fatalf("%q: %v", tt.tmpl, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Render(%q) = %#v, want %#v", tt.tmpl, got, tt.want)
		}
	}
	body := map[string]any{"id": "{{ input.name }}", "n": []any{"{{ input.qty }}", true}}
	got, err := RenderAll(body, env())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "Ada", "n": []any{4.0, true}}
	if !reflect.DeepEqual(got, want) || body["id"] != "{{ input.name }}" {
		t.Fatalf("RenderAll = %#v (input %#v)", got, body)
	}
	if _, err := Render("x {{ input.price * }}", env()); !errors.Is(err, ErrExpression) {
		t.Fatalf("bad template: %v", err)
	}
}
