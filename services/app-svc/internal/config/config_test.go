package config

import (
	"strings"
	"testing"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
)

const goodKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func load(env ...string) (Config, error) {
	return Load(pkgconfig.WithEnviron(env), pkgconfig.WithDotEnv(""))
}

func TestLoad(t *testing.T) {
	prod := []string{"ENVIRONMENT=production", "JWT_SECRET_KEY=" + strings.Repeat("j", 40), "SUPABASE_JWT_SECRET=" + strings.Repeat("s", 40)}
	tests := []struct {
		name    string
		env     []string
		wantErr string // "" for success
		check   func(Config) bool
	}{
		{"defaults", nil, "", func(c Config) bool {
			return c.Port == 8082 && c.MaxRequestBodyBytes == 1<<20 && c.DBStatementTimeout.String() == "5s" && c.MigrateAtStart()
		}},
		{"migrations at start are off outside development", []string{"ENVIRONMENT=staging"}, "", func(c Config) bool { return !c.MigrateAtStart() }},
		{"and can be switched on", []string{"ENVIRONMENT=staging", "APP_MIGRATE_ON_START=true"}, "", func(c Config) bool { return c.MigrateAtStart() }},
		{"or off", []string{"APP_MIGRATE_ON_START=false"}, "", func(c Config) bool { return !c.MigrateAtStart() }},
		{"APP_MIGRATE_ON_START must be a boolean", []string{"APP_MIGRATE_ON_START=maybe"}, "APP_MIGRATE_ON_START", nil},
		{"a malformed key", []string{"ENCRYPTION_KEY=hunter2"}, "ENCRYPTION_KEY", nil},
		{"production requires the key", prod, "ENCRYPTION_KEY is required", nil},
		{"production refuses the development key", append(prod, "ENCRYPTION_KEY="+knownDevKey), "public development key", nil},
		{"production with its own key", append(prod, "ENCRYPTION_KEY="+goodKey), "", nil},
		{"a tiny body limit", []string{"MAX_REQUEST_BODY_BYTES=10"}, "MAX_REQUEST_BODY_BYTES", nil},
		{"no statement timeout", []string{"DB_STATEMENT_TIMEOUT=0s"}, "DB_STATEMENT_TIMEOUT", nil},
		{"auth settings are checked", []string{"SUPABASE_JWT_SECRET=short"}, "SUPABASE_JWT_SECRET", nil},
		{"limit settings are checked", []string{"RATE_LIMIT_STORAGE=disk"}, "RATE_LIMIT_STORAGE", nil},
		{"chat defaults", nil, "", func(c Config) bool {
			return c.Chat.AgentAddr() == "127.0.0.1:50051" && c.Chat.TurnTimeout.String() == "2m0s" && c.Chat.Heartbeat.String() == "15s"
		}},
		{"the agent's address", []string{"WORKFLOW_SERVICE_HOST=workflow-agent", "WORKFLOW_SERVICE_PORT=50099"}, "", func(c Config) bool {
			return c.Chat.AgentAddr() == "workflow-agent:50099"
		}},
		{"an agent port out of range", []string{"WORKFLOW_SERVICE_PORT=70000"}, "WORKFLOW_SERVICE_PORT", nil},
		{"no turn timeout", []string{"AGENT_TURN_TIMEOUT=0s"}, "AGENT_TURN_TIMEOUT", nil},
		{"no heartbeat", []string{"CHAT_HEARTBEAT_INTERVAL=0s"}, "CHAT_HEARTBEAT_INTERVAL", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.check != nil && !tt.check(c) {
					t.Fatalf("config %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncryptionKeyBytes(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EncryptionKeyBytes(); err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEY is required") {
		t.Fatalf("unset key: %v", err)
	}
	c, _ = load("ENCRYPTION_KEY=" + goodKey)
	if k, err := c.EncryptionKeyBytes(); err != nil || len(k) != 32 {
		t.Fatalf("key %x, %v", k, err)
	}
}
