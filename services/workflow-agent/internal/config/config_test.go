package config

import (
	"strings"
	"testing"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
)

func load(environ ...string) (Config, error) {
	return Load(pkgconfig.WithEnviron(environ), pkgconfig.WithDotEnv(""))
}

func TestDefaults(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"listen address", c.Addr(), "127.0.0.1:50051"},
		{"admin address", c.AdminAddr(), "127.0.0.1:8085"},
		{"LLM off", c.LLMEnabled(), false},
		{"LLM_MODEL", c.LLMModel, "gpt-4o-mini"},
		{"LLM_TIMEOUT", c.LLMTimeout, 60 * time.Second},
		{"AGENT_RESPONSE_DELAY", c.ResponseDelay, time.Duration(0)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestPorts(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"WORKFLOW_SERVICE_PORT names the port for everyone", []string{"WORKFLOW_SERVICE_PORT=6000"}, "127.0.0.1:6000"},
		{"PORT wins", []string{"WORKFLOW_SERVICE_PORT=6000", "PORT=7000"}, "127.0.0.1:7000"},
		{"HOST", []string{"HOST=0.0.0.0"}, "0.0.0.0:50051"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.environ...)
			if err != nil {
				t.Fatal(err)
			}
			if c.Addr() != tt.want {
				t.Errorf("Addr() = %q, want %q", c.Addr(), tt.want)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		environ []string
		want    string // the variable the error names
	}{
		{[]string{"ADMIN_PORT=50051"}, "ADMIN_PORT"},
		{[]string{"ADMIN_PORT=0"}, "ADMIN_PORT"},
		{[]string{"WORKFLOW_SERVICE_PORT=70000"}, "WORKFLOW_SERVICE_PORT"},
		{[]string{"LLM_BASE_URL=ftp://models.example.com"}, "LLM_BASE_URL"},
		{[]string{"LLM_TIMEOUT=0s"}, "LLM_TIMEOUT"},
		{[]string{"AGENT_RESPONSE_DELAY=1m"}, "AGENT_RESPONSE_DELAY"},
		{[]string{"AGENT_RESPONSE_DELAY=soon"}, "AGENT_RESPONSE_DELAY"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.environ, " "), func(t *testing.T) {
			_, err := load(tt.environ...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestAPIKeyMasked(t *testing.T) {
	c, err := load("LLM_BASE_URL=https://api.example.com/v1", "LLM_API_KEY=sk-very-secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range pkgconfig.LogAttrs(c) {
		if strings.Contains(a.Value.String(), "sk-very-secret") {
			t.Errorf("%s logs the API key", a.Key)
		}
	}
}
