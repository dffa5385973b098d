package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/app-svc/internal/agent"
	"github.com/wfagent/gateway/services/app-svc/internal/config"
	"github.com/wfagent/gateway/services/app-svc/internal/httpapi"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
)

// lockCheckInterval is how often the connection holding the chat streams'
// session locks is checked while streams are open.
const lockCheckInterval = 5 * time.Second

// openChat makes the chat stream's dependencies: the Workflow Agent client
// (dialled on the first turn) and the session locks (one dedicated database
// connection, checked while in use). closeChat releases both once the
// server has drained.
func openChat(cfg config.Config, st *store.Store, probes *httpx.Probes, log *slog.Logger) (chat *httpapi.Chat, closeChat func(), err error) {
	client, err := agent.New(cfg.Chat.AgentAddr(), cfg.Chat.TurnTimeout)
	if err != nil {
		return nil, nil, err
	}
	locks := store.NewSessionLocks(st.Pool().Config().ConnConfig)
	ctx, stopWatch := context.WithCancel(context.Background())
	go locks.Watch(ctx, lockCheckInterval)
	closeChat = func() {
		stopWatch()
		locks.Close()
		_ = client.Close()
	}
	return &httpapi.Chat{Agent: client, Locks: locks, Heartbeat: cfg.Chat.Heartbeat, Draining: probes.Draining(), Log: log}, closeChat, nil
}
