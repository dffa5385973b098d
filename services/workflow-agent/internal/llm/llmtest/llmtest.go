// Package llmtest is a local chat-completions server for tests: it speaks
// the OpenAI streaming wire format (Server-Sent Events of `data: {chunk}`
// lines ending with `data: [DONE]`) and plays scripted answers in order.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Reply is one scripted answer.
type Reply struct {
	Text   string // streamed in small chunks
	Status int    // non-200: an error body instead of a stream
	Cut    bool   // end the stream without [DONE]
	Hang   bool   // send nothing until the client goes away
}

// Request is what the server received.
type Request struct {
	Authorization string
	Body          struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
}

// Server plays its replies in order; the last one repeats.
type Server struct {
	URL string

	mu       sync.Mutex
	replies  []Reply
	requests []Request
}

// New starts a server closed at the end of the test.
func New(t testing.TB, replies ...Reply) *Server {
	s := &Server{replies: replies}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL + "/v1"
	return s
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req Request
	req.Authorization = r.Header.Get("Authorization")
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &req.Body)
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	reply := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()

	if reply.Status != 0 && reply.Status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		fmt.Fprintf(w, `{"error":{"message":"scripted failure","type":"server_error"}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flusher := w.(http.Flusher)
	if reply.Hang {
		flusher.Flush()
		<-r.Context().Done()
		return
	}
	fmt.Fprint(w, ": keep-alive comment\n\n")
	first, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant"}}}})
	fmt.Fprintf(w, "data: %s\n\n", first)
	text := []rune(reply.Text)
	for i := 0; i < len(text); i += 7 {
		part := string(text[i:min(i+7, len(text))])
		chunk, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk",
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": part}, "finish_reason": nil}}})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		flusher.Flush()
	}
	if reply.Cut {
		return
	}
	fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
}
