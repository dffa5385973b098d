package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/services/app-svc/internal/agent"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// Chat is what POST /chat/stream needs beyond the other routes.
type Chat struct {
	Agent Agent
	Locks SessionLocks
	// Heartbeat is the interval of the `: ping` comment (CHAT_HEARTBEAT_INTERVAL).
	Heartbeat time.Duration
	// Draining closes when the server starts to drain (httpx.Probes.Draining):
	// open streams then end with a retry hint instead of being cut.
	Draining <-chan struct{}
	Log      *slog.Logger
}

// Agent starts a conversation turn (*agent.Client).
type Agent interface {
	Converse(ctx context.Context, t agent.Turn) (*agent.Conversation, error)
}

// SessionLocks lets one stream at a time run on a session, across replicas
// (*store.SessionLocks).
type SessionLocks interface {
	TryLock(ctx context.Context, id uuid.UUID) (*store.Lease, error)
}

// maxChatMessageBytes is the agent's bound on a user message.
const maxChatMessageBytes = 16 << 10

// defaultHeartbeat is DESIGN §3's ping interval.
const defaultHeartbeat = 15 * time.Second

// drainRetry is the reconnection hint sent when the server drains: long
// enough for the load balancer to stop sending requests here.
const drainRetry = 2 * time.Second

// cleanupTimeout bounds the writes that record an interrupted turn after
// the client has gone.
const cleanupTimeout = 5 * time.Second

type chatRequest struct {
	SessionID string `json:"session_id"`
	Message   string `json:"message"`
}

// chatEvent is the data of one event (DESIGN §3).
type chatEvent struct {
	Type      string    `json:"type"`
	SessionID uuid.UUID `json:"session_id"`
	Content   any       `json:"content"`
	Timestamp int64     `json:"timestamp"`
	IsFinal   bool      `json:"is_final"`
}

// chatStream is POST /chat/stream: one turn of the conversation, streamed
// as Server-Sent Events, one event per agent response.
//
// Everything that can fail before the agent's first response is an
// ordinary JSON error: the session is the caller's (404), no other stream
// holds it (409 session_busy), the agent answers (502/504). Only then is
// the user's message stored and the stream opened, so a refused turn
// leaves no trace and may simply be sent again.
//
// What the history keeps: the user's message; the text of every message
// and workflow response (the caption; the workflow itself is in the
// session's state, current_workflow_json) as assistant messages, stored
// before the event is written; the message of every error event, from the
// agent or from here, as a system message. Status changes are progress,
// not conversation. The agent's state is saved as it arrives, which for
// the reference agent is the final response: a turn that does not finish
// (client gone, agent failure, timeout, drain) leaves the state of the last
// completed turn, and its history ends with a system message saying the
// turn was interrupted, so the history is always what happened and the
// next turn starts from a state the agent produced.
func (h *handlers) chatStream(c *gin.Context) error {
	if h.Chat == nil {
		return apperr.New(apperr.Unavailable, "chat_disabled", "chat is not enabled on this server")
	}
	u, err := user(c)
	if err != nil {
		return err
	}
	var in chatRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	sessionID, err := in.validate()
	if err != nil {
		return err
	}
	ctx := c.Request.Context()

	var sess store.Session
	err = h.DB.WithUser(ctx, u.RawClaims, func(tx pgx.Tx) error {
		sess, err = store.GetSession(ctx, tx, sessionID)
		return err
	})
	if err != nil {
		return dbError(err, "session")
	}
	// Locked only once the session is known to be the caller's: a 409
	// must not reveal that someone else's session exists.
	lease, err := h.Chat.Locks.TryLock(ctx, sessionID)
	if errors.Is(err, store.ErrBusy) {
		return apperr.New(apperr.Aborted, "session_busy", "this session is already streaming a turn: wait for it to end")
	}
	if err != nil {
		return dbError(err, "session")
	}
	defer lease.Release()

	turn, err := h.chatTurn(ctx, u, sess, in.Message)
	if err != nil {
		return err
	}
	conv, err := h.Chat.Agent.Converse(ctx, turn)
	if err != nil {
		return err
	}
	defer conv.Close()
	err = h.DB.WithUser(ctx, u.RawClaims, func(tx pgx.Tx) error {
		_, err := store.AppendMessage(ctx, tx, sessionID, "user", in.Message)
		return err
	})
	if err != nil {
		return dbError(err, "session")
	}

	s := &sseTurn{h: h, c: c, user: u, session: sessionID, log: h.chatLog()}
	s.relay(conv, lease)
	return nil
}

func (in chatRequest) validate() (uuid.UUID, error) {
	var problems []apperr.FieldError
	id, err := uuid.Parse(in.SessionID)
	if err != nil {
		problems = append(problems, apperr.FieldError{Field: "session_id", Message: "must be a session's UUID"})
	}
	switch {
	case strings.TrimSpace(in.Message) == "":
		problems = append(problems, apperr.FieldError{Field: "message", Message: "is required"})
	case len(in.Message) > maxChatMessageBytes:
		problems = append(problems, apperr.FieldError{Field: "message", Message: fmt.Sprintf("must be at most %d bytes", maxChatMessageBytes)})
	}
	if len(problems) > 0 {
		return uuid.Nil, apperr.Validation(problems...)
	}
	return id, nil
}

// chatTurn gathers what the agent is sent: the state saved after the last
// completed turn and, for edit and copy sessions, the source workflow
// (credentials masked) for the agent to start from.
func (h *handlers) chatTurn(ctx context.Context, u *auth.User, sess store.Session, message string) (agent.Turn, error) {
	t := agent.Turn{SessionID: sess.ID.String(), UserID: u.ID.String(), Message: message, Origin: sess.Action}
	if sess.SourceWorkflowID.Valid {
		t.SourceWorkflowID = sess.SourceWorkflowID.UUID.String()
	}
	err := h.DB.WithUser(ctx, u.RawClaims, func(tx pgx.Tx) error {
		st, err := store.GetWorkflowState(ctx, tx, sess.ID)
		switch {
		case err == nil:
			t.State = st.State
		case !isNotFound(err):
			return err
		}
		if sess.Action == actionCreate || !sess.SourceWorkflowID.Valid {
			return nil // a deleted source: the agent says what it misses
		}
		w, err := store.GetWorkflow(ctx, tx, sess.SourceWorkflowID.UUID)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		wf, err := workflows.Present(record(w))
		if err != nil {
			return err
		}
		raw, err := json.Marshal(wf)
		t.SourceWorkflowJSON = string(raw)
		return err
	})
	return t, dbError(err, "session")
}

func (h *handlers) chatLog() *slog.Logger {
	if h.Chat.Log != nil {
		return h.Chat.Log
	}
	return slog.Default()
}

// sseTurn relays one turn. Only its goroutine writes to the response.
type sseTurn struct {
	h       *handlers
	c       *gin.Context
	user    *auth.User
	session uuid.UUID
	log     *slog.Logger
	events  int
}

type next struct {
	r   agent.Response
	err error
}

func (s *sseTurn) relay(conv *agent.Conversation, lease *store.Lease) {
	ctx := s.c.Request.Context()
	w := s.c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	// The agent's responses are read on their own goroutine so that the
	// heartbeat, the drain and the client going away are seen meanwhile.
	// Closing done (and the conversation, by the caller) ends it.
	responses := make(chan next)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			r, err := conv.Next()
			select {
			case responses <- next{r, err}:
			case <-done:
				return
			}
			if err != nil || r.Final {
				return
			}
		}
	}()

	every := s.h.Chat.Heartbeat
	if every <= 0 {
		every = defaultHeartbeat
	}
	heartbeat := time.NewTicker(every)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			s.interrupted("the connection closed before the agent finished")
			return
		case <-lease.Lost():
			s.fail(apperr.New(apperr.Unavailable, "session_lock_lost", "the server lost track of this turn; send the message again"))
			return
		case <-s.h.Chat.Draining:
			s.drain()
			return
		case <-heartbeat.C:
			if !s.write(": ping\n\n") {
				s.interrupted("the connection closed before the agent finished")
				return
			}
		case n := <-responses:
			if n.err != nil && ctx.Err() != nil {
				s.interrupted("the connection closed before the agent finished")
				return
			}
			if n.err != nil {
				s.fail(n.err)
				return
			}
			if !s.relayResponse(n.r) || n.r.Final {
				return
			}
		}
	}
}

// relayResponse stores what the response changes, then writes its event;
// false ends the stream.
func (s *sseTurn) relayResponse(r agent.Response) bool {
	role, text := historyOf(r)
	if text != "" || r.State != nil {
		ctx := s.c.Request.Context()
		err := s.h.DB.WithUser(ctx, s.user.RawClaims, func(tx pgx.Tx) error {
			if text != "" {
				if _, err := store.AppendMessage(ctx, tx, s.session, role, text); err != nil {
					return err
				}
			}
			if r.State != nil {
				return store.SaveWorkflowState(ctx, tx, s.session, r.State.Stage, r.State.JSON)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				s.interrupted("the connection closed before the agent finished")
				return false
			}
			s.log.ErrorContext(ctx, "chat: storing a response", "session_id", s.session, "error", err)
			s.fail(apperr.New(apperr.Unavailable, "storage_failed", "the conversation could not be saved; send the message again"))
			return false
		}
	}
	if !s.event(r.Type(), r.Content(), r.At, r.Final) {
		s.interrupted("the connection closed before the agent finished")
		return false
	}
	return true
}

// historyOf is what a response adds to the chat history, if anything.
func historyOf(r agent.Response) (role, text string) {
	switch {
	case r.Message != nil:
		return r.Message.Role, r.Message.Text
	case r.Workflow != nil:
		return "assistant", r.Workflow.Text
	case r.Error != nil:
		return "system", r.Error.Message
	}
	return "", ""
}

// fail ends the stream with a final error event, recorded in the history.
func (s *sseTurn) fail(err error) {
	e := apperr.From(err)
	if e.Kind == apperr.Internal {
		s.log.ErrorContext(s.c.Request.Context(), "chat: turn failed", "session_id", s.session, "error", err)
	}
	content := agent.Error{Code: e.Code, Message: e.Message, Recoverable: agent.Recoverable(e)}
	if e.Kind == apperr.Internal {
		content.Code, content.Message = "internal_error", "internal server error"
	}
	s.record(content.Message)
	s.event(agent.TypeError, content, time.Now(), true)
}

// drain ends the stream because the server is shutting down: a retry hint,
// then a final error event the client can act on.
func (s *sseTurn) drain() {
	const msg = "the server is restarting: send the message again"
	s.record(msg)
	s.write(fmt.Sprintf("retry: %d\n\n", drainRetry.Milliseconds()))
	s.event(agent.TypeError, agent.Error{Code: "server_draining", Message: msg, Recoverable: true}, time.Now(), true)
}

// interrupted records a turn the client did not see to its end.
func (s *sseTurn) interrupted(why string) {
	s.record("The turn was interrupted (" + why + "); the agent's state was not updated. Send the message again to retry.")
}

// record adds a system message, also when the request's context has ended.
func (s *sseTurn) record(text string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.c.Request.Context()), cleanupTimeout)
	defer cancel()
	err := s.h.DB.WithUser(ctx, s.user.RawClaims, func(tx pgx.Tx) error {
		_, err := store.AppendMessage(ctx, tx, s.session, "system", text)
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "chat: recording an interrupted turn", "session_id", s.session, "error", err)
	}
}

// event writes one event and flushes it; false when the client is gone.
func (s *sseTurn) event(typ string, content any, at time.Time, final bool) bool {
	data, err := json.Marshal(chatEvent{Type: typ, SessionID: s.session, Content: content, Timestamp: at.UnixMilli(), IsFinal: final})
	if err != nil {
		s.log.ErrorContext(s.c.Request.Context(), "chat: encoding an event", "error", err)
		return false
	}
	s.events++
	return s.write(fmt.Sprintf("id: %d\ndata: %s\n\n", s.events, data))
}

func (s *sseTurn) write(frame string) bool {
	if _, err := s.c.Writer.WriteString(frame); err != nil {
		return false
	}
	s.c.Writer.Flush()
	return s.c.Request.Context().Err() == nil
}
