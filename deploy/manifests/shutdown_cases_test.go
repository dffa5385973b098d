package manifests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/testkit"
	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
)

// Secrets of the test stack only.
const (
	jwtSecret      = "shutdown-test-supabase-jwt-secret-0123456789"
	internalSecret = "shutdown-test-internal-jwt-secret-0123456789"
	encryptionKey  = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
)

// agentDelay spaces the responses of a Workflow Agent turn so that one is
// still streaming when the agent receives SIGTERM.
const agentDelay = slowFor

// hangingWorkflow is DESIGN §6's example with a WAIT long enough that its
// execution runs for the whole test.
const hangingWorkflow = `{"name": "Hello pipeline", "description": "manual start, long wait, then set a value",
 "nodes": [
   {"id": "n1", "name": "Start", "type": "TRIGGER_NODE", "subtype": "MANUAL", "parameters": {}},
   {"id": "n2", "name": "Pause", "type": "FLOW_NODE", "subtype": "WAIT", "parameters": {"seconds": 30}},
   {"id": "n3", "name": "Greet", "type": "ACTION_NODE", "subtype": "DATA_TRANSFORMATION",
    "parameters": {"values": {"greeting": "hello"}}}],
 "connections": {
   "Start": {"main": [[{"node": "Pause", "type": "main", "index": 0}]]},
   "Pause": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}}}`

func shutdownCases() []shutdownCase {
	return []shutdownCase{
		{name: "edge", binary: "edge", prepare: func(t *testing.T, at ports) load {
			up := newUpstream(t)
			return load{
				env: []string{"PORT=" + strconv.Itoa(at.port), "ADMIN_PORT=" + strconv.Itoa(at.admin),
					"PUBLIC_SVC_URL=" + up.srv.URL, "APP_SVC_URL=" + up.srv.URL, "MCP_SVC_URL=" + up.srv.URL},
				probes:   at.probe(),
				inFlight: slowGets(up, at.main()+"/api/app/slow", nil), inFlightN: 2, inFlightOK: `"slow":true`,
				stream: func(t *testing.T, _ *process) *http.Response {
					res, err := http.Get(at.main() + "/api/app/chat/stream")
					if err != nil {
						t.Fatal(err)
					}
					return res
				},
				inDrain: func() error { return wantOK(at.main()+"/api/public/status", nil) },
			}
		}},
		{name: "public-svc", binary: "public-svc", prepare: func(t *testing.T, at ports) load {
			up := newUpstream(t)
			closed := testkit.FreePort(t) // nothing listens here: dependencies refuse at once
			dead := "127.0.0.1:" + strconv.Itoa(closed)
			return load{
				env: []string{"PORT=" + strconv.Itoa(at.port),
					"APP_SVC_URL=" + up.srv.URL, "MCP_SVC_URL=" + up.srv.URL, "EDGE_ADMIN_URL=" + up.srv.URL,
					"DATABASE_URL=postgres://postgres@" + dead + "/postgres?sslmode=disable&connect_timeout=1",
					"REDIS_URL=redis://" + dead + "/0", "NATS_URL=nats://" + dead,
					"WORKFLOW_SERVICE_HOST=127.0.0.1", "WORKFLOW_SERVICE_PORT=" + strconv.Itoa(closed),
					"HEALTH_CHECK_TIMEOUT=5s", "HEALTH_CACHE_TTL=0s"},
				probes: at.main(),
				// The aggregated health waits for app-svc's and mcp-svc's slow /healthz.
				inFlight: slowGets(up, at.main()+"/api/public/health", nil), inFlightN: 2, inFlightOK: `"app_api":true`,
				inDrain: func() error { return wantOK(at.main()+"/healthz", nil) },
			}
		}},
		{name: "app-svc", binary: "app-svc", prepare: prepareAppSvc},
		{name: "mcp-svc", binary: "mcp-svc", prepare: func(t *testing.T, at ports) load {
			requireRedis(t)
			up := newUpstream(t)
			key := testkit.Unique("sd-mcp-key-")
			withKey := http.Header{"X-Api-Key": {key}}
			return load{
				env: []string{"PORT=" + strconv.Itoa(at.port),
					`MCP_API_KEYS={"` + key + `": {"client_name": "shutdown", "scopes": ["tools:read", "health:check"]}}`,
					// Internal tokens switch the workflow tools on, and with
					// them the health check of app-svc, which is slow here.
					"JWT_SECRET_KEY=" + internalSecret, "APP_SVC_URL=" + up.srv.URL, "HEALTH_CHECK_TIMEOUT=5s",
					"REDIS_URL=" + testkit.RedisURL, "RATE_LIMIT_KEY_PREFIX=" + testkit.Unique("sd:") + ":"},
				probes: at.main(),
				// The layer's health waits for app-svc's slow /healthz.
				inFlight: slowGets(up, at.main()+"/api/mcp/health", withKey), inFlightN: 2, inFlightOK: `"app_api":true`,
				inDrain: func() error { return wantOK(at.main()+"/api/mcp/tools", withKey) },
			}
		}},
		{name: "workflow-engine", binary: "workflow-engine", prepare: func(t *testing.T, at ports) load {
			x := newExecNames(t)
			// The engine serves probes and metrics only: nothing of its own
			// is in flight over HTTP. Executions running at SIGTERM finish
			// or are handed back: its own tests cover that.
			return load{
				env:     append(x.engineEnv(), "PORT="+strconv.Itoa(at.port)),
				probes:  at.main(),
				inDrain: func() error { return wantOK(at.main()+"/healthz", nil) },
			}
		}},
		{name: "workflow-agent", binary: "workflow-agent", prepare: prepareAgent},
	}
}

// slowGets is two GETs of url that the upstream holds for slowFor.
func slowGets(up *upstream, url string, header http.Header) func(t *testing.T, p *process) <-chan timed {
	return func(t *testing.T, p *process) <-chan timed {
		out := make(chan timed, 2)
		for range 2 {
			go get(url, header, out)
		}
		up.awaitArrivals(t, 2, p)
		return out
	}
}

// prepareAppSvc: a fresh database (migrated at start), Redis limits and
// NATS names of its own, and a workflow engine on the same names, so that an
// execution is really running. The event stream is that execution's
// (GET /executions/{id}/events); the in-flight requests are API key lists
// held by a lock the test takes on their table and lets go slowFor later.
func prepareAppSvc(t *testing.T, at ports) load {
	requireRedis(t)
	db := testkit.NewDatabase(t)
	x := newExecNames(t)
	enginePort := testkit.FreePort(t)
	start(t, "workflow-engine", nil, append(x.engineEnv(), "PORT="+strconv.Itoa(enginePort), "LOG_FORMAT=json"),
		"http://127.0.0.1:"+strconv.Itoa(enginePort)+"/readyz")

	tok, err := auth.MintDevToken(auth.Config{JWTSecret: jwtSecret, Audience: "authenticated"}, "development", uuid.NewString(), "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bearer := http.Header{"Authorization": {"Bearer " + tok}}
	call := func(t *testing.T, method, path, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, at.main()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = bearer.Clone()
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	var executionID string

	return load{
		args: []string{"serve"},
		env: append(x.appEnv(), "PORT="+strconv.Itoa(at.port),
			// Room in the pool beside the two requests held by the lock.
			"DATABASE_URL="+db+"&pool_max_conns=10", "APP_MIGRATE_ON_START=true",
			"SUPABASE_JWT_SECRET="+jwtSecret, "JWT_SECRET_KEY="+internalSecret, "ENCRYPTION_KEY="+encryptionKey,
			"REDIS_URL="+testkit.RedisURL, "RATE_LIMIT_KEY_PREFIX="+testkit.Unique("sd:")+":",
			// No chat in this test: the agent's port is closed.
			"WORKFLOW_SERVICE_HOST=127.0.0.1", "WORKFLOW_SERVICE_PORT="+strconv.Itoa(testkit.FreePort(t)),
			"EXEC_SWEEP_INTERVAL=200ms", "EXEC_SWEEP_GRACE=300ms"),
		probes: at.main(),
		stream: func(t *testing.T, p *process) *http.Response {
			code, body := call(t, http.MethodPost, "/api/app/workflows", hangingWorkflow)
			var wf struct{ ID string }
			if err := json.Unmarshal(body, &wf); code != http.StatusCreated || err != nil {
				t.Fatalf("create workflow: %d %s", code, body)
			}
			code, body = call(t, http.MethodPost, "/api/app/workflows/"+wf.ID+"/execute", "")
			var ex struct {
				ExecutionID string `json:"execution_id"`
			}
			if err := json.Unmarshal(body, &ex); code != http.StatusAccepted || err != nil || ex.ExecutionID == "" {
				t.Fatalf("execute: %d %s", code, body)
			}
			executionID = ex.ExecutionID
			// 503 until app-svc has opened the bus in the background.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				req, _ := http.NewRequest(http.MethodGet, at.main()+"/api/app/executions/"+executionID+"/events", nil)
				req.Header = bearer.Clone()
				req.Header.Set("Accept", "text/event-stream")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
					return res
				}
				res.Body.Close()
			}
		},
		// The engine is inside the 30 s wait.
		streamReady: `"node_name":"Pause"`, streamEndsAtDrain: true,
		inFlight: func(t *testing.T, p *process) <-chan timed {
			return lockedGets(t, p, db, "api_keys", at.main()+"/api/app/api-keys", bearer)
		},
		inFlightN: 2, inFlightOK: `"api_keys":[]`,
		inDrain: func() error {
			return wantOK(at.main()+"/api/app/executions/"+executionID, bearer)
		},
	}
}

// lockedGets locks table in an open transaction, sends two GETs of url
// that read it, waits until PostgreSQL shows both waiting for the lock,
// and lets the lock go slowFor later.
func lockedGets(t *testing.T, p *process, db, table, url string, header http.Header) <-chan timed {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(testkit.MissingServer("PostgreSQL", testkit.PostgresURL, err))
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	t.Cleanup(func() { <-released })
	defer func() {
		go func() {
			time.Sleep(slowFor)
			_ = tx.Rollback(ctx)
			_ = conn.Close(ctx)
			close(released)
		}()
	}()
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{table}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	out := make(chan timed, 2)
	for range 2 {
		go get(url, header, out)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		err := tx.QueryRow(ctx, `select count(*) from pg_locks where relation = $1::regclass and not granted`, table).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting for the lock on %s, want 2:\n%s", waiting, table, p.logs.String())
		}
	}
}

// prepareAgent: the in-flight requests are two conversation turns whose
// responses are agentDelay apart, each past its first response at
// SIGTERM; during the drain delay the gRPC health service still answers,
// NOT_SERVING.
func prepareAgent(t *testing.T, at ports) load {
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(at.port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return load{
		env: []string{"PORT=" + strconv.Itoa(at.port), "ADMIN_PORT=" + strconv.Itoa(at.admin),
			"AGENT_RESPONSE_DELAY=" + agentDelay.String()},
		probes: at.probe(),
		inFlight: func(t *testing.T, p *process) <-chan timed {
			out := make(chan timed, 2)
			for range 2 {
				stream, err := pb.NewWorkflowAgentClient(conn).ProcessConversation(t.Context(), &pb.ConversationRequest{
					SessionId: uuid.NewString(), UserId: uuid.NewString(),
					UserMessage: "Every morning at 8, fetch https://example.com/weather and email me a summary",
				})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := stream.Recv(); err != nil {
					t.Fatalf("first response of a turn: %v\n%s", err, p.logs.String())
				}
				go func() {
					n, final := 1, false
					for {
						r, err := stream.Recv()
						if err == io.EOF {
							out <- timed{body: fmt.Sprintf("%d responses, last is_final=%v", n, final), at: time.Now()}
							return
						}
						if err != nil {
							out <- timed{err: err, body: fmt.Sprintf("after %d responses", n), at: time.Now()}
							return
						}
						n, final = n+1, r.GetIsFinal()
					}
				}()
			}
			return out
		},
		inFlightN: 2, inFlightOK: "last is_final=true",
		inDrain: func() error {
			hc, err := healthpb.NewHealthClient(conn).Check(context.Background(),
				&healthpb.HealthCheckRequest{Service: pb.WorkflowAgent_ServiceDesc.ServiceName})
			if err != nil || hc.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
				return fmt.Errorf("gRPC health %v %v, want an answer NOT_SERVING", hc.GetStatus(), err)
			}
			return wantOK(at.probe()+"/healthz", nil)
		},
	}
}

// execNames are an executions contract of one test's own on the shared
// NATS server: stream, subjects, buckets and consumers, deleted afterwards.
type execNames struct {
	stream, prefix, cancels, claims, appConsumer, engineConsumer string
}

func newExecNames(t *testing.T) execNames {
	t.Helper()
	nc, err := nats.Connect(testkit.NATSURL, nats.Timeout(3*time.Second))
	if err != nil {
		t.Fatal(testkit.MissingServer("NATS", testkit.NATSURL, err))
	}
	u := testkit.Unique("")
	x := execNames{stream: "SD_EXEC_" + u, prefix: "sd" + u + ".exec", cancels: "SD_CANCEL_" + u,
		claims: "SD_CLAIMS_" + u, appConsumer: "sd_app_" + u, engineConsumer: "sd_engine_" + u}
	t.Cleanup(func() {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Error(err)
			return
		}
		_ = js.DeleteStream(ctx, x.stream)
		_ = js.DeleteKeyValue(ctx, x.cancels)
		_ = js.DeleteKeyValue(ctx, x.claims)
	})
	return x
}

func (x execNames) common() []string {
	return []string{"NATS_URL=" + testkit.NATSURL, "EXEC_STREAM=" + x.stream, "EXEC_SUBJECT_PREFIX=" + x.prefix,
		"EXEC_CANCEL_BUCKET=" + x.cancels, "EXEC_STREAM_STORAGE=memory"}
}

func (x execNames) appEnv() []string {
	return append(x.common(), "EXEC_EVENTS_CONSUMER="+x.appConsumer)
}

func (x execNames) engineEnv() []string {
	return append(x.common(), "ENGINE_CONSUMER="+x.engineConsumer, "ENGINE_CLAIM_BUCKET="+x.claims)
}

// requireRedis fails the test, naming Redis, when it does not answer PING.
func requireRedis(t *testing.T) {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(testkit.RedisURL, "redis://"), "/0")
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		var line string
		if _, err = io.WriteString(c, "PING\r\n"); err == nil {
			line, err = bufio.NewReader(c).ReadString('\n')
		}
		if err == nil && !strings.HasPrefix(line, "+PONG") {
			err = fmt.Errorf("PING answered %q", line)
		}
	}
	if err != nil {
		t.Fatal(testkit.MissingServer("Redis", testkit.RedisURL, err))
	}
}
