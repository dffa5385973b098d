package main

import (
	"path/filepath"
	"strconv"

	"github.com/wfagent/gateway/deploy/devstack/internal/stack"
)

// stackServices is the local stack, in start order: what a service calls
// starts before it, the edge last. Adding a service is an entry here and a
// port in Config.
func stackServices(cfg Config, bin string) []stack.Service {
	port := strconv.Itoa
	local := func(p int) string { return "http://127.0.0.1:" + port(p) }
	agent := map[string]string{"WORKFLOW_SERVICE_HOST": "127.0.0.1", "WORKFLOW_SERVICE_PORT": port(cfg.AgentPort)}
	return []stack.Service{
		{Name: "workflow-agent", Binary: filepath.Join(bin, "workflow-agent"),
			Env:   map[string]string{"PORT": port(cfg.AgentPort), "ADMIN_PORT": port(cfg.AgentAdmin)},
			Ready: local(cfg.AgentAdmin) + "/healthz"},
		{Name: "workflow-engine", Binary: filepath.Join(bin, "workflow-engine"),
			Env:   map[string]string{"PORT": port(cfg.EnginePort)},
			Ready: local(cfg.EnginePort) + "/readyz"},
		{Name: "app-svc", Binary: filepath.Join(bin, "app-svc"), Pre: []string{"migrate"}, Args: []string{"serve"},
			Env:   with(agent, map[string]string{"PORT": port(cfg.AppPort), "APP_MIGRATE_ON_START": "false"}),
			Ready: local(cfg.AppPort) + "/healthz"},
		{Name: "mcp-svc", Binary: filepath.Join(bin, "mcp-svc"),
			Env:   map[string]string{"PORT": port(cfg.MCPPort), "APP_SVC_URL": local(cfg.AppPort)},
			Ready: local(cfg.MCPPort) + "/healthz"},
		{Name: "public-svc", Binary: filepath.Join(bin, "public-svc"),
			Env: with(agent, map[string]string{"PORT": port(cfg.PublicPort), "EDGE_ADMIN_URL": local(cfg.EdgeAdmin),
				"APP_SVC_URL": local(cfg.AppPort), "MCP_SVC_URL": local(cfg.MCPPort)}),
			Ready: local(cfg.PublicPort) + "/healthz"},
		{Name: "edge", Binary: filepath.Join(bin, "edge"),
			Env: map[string]string{"PORT": port(cfg.EdgePort), "ADMIN_PORT": port(cfg.EdgeAdmin),
				"PUBLIC_SVC_URL": local(cfg.PublicPort), "APP_SVC_URL": local(cfg.AppPort), "MCP_SVC_URL": local(cfg.MCPPort)},
			Ready: local(cfg.EdgeAdmin) + "/healthz"},
	}
}

func with(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
