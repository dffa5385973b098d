// Package llm is the agent's optional language model backend: an
// OpenAI-compatible /chat/completions endpoint, asked with stream=true, whose
// Server-Sent Events are read chunk by chunk. It implements agent.Drafter.
package llm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
)

// Limits that keep a misbehaving server from holding memory.
const (
	maxAnswerBytes = 256 << 10 // the model's text
	maxLineBytes   = 1 << 20   // one SSE line
	maxErrorBytes  = 4 << 10   // an error body, for the log
	temperature    = 0.2
)

// Client asks one model. It is safe for concurrent use.
type Client struct {
	endpoint string
	apiKey   string
	model    string
	timeout  time.Duration
	http     *http.Client
}

// Option configures New.
type Option func(*Client)

// WithHTTPClient replaces the default client (it carries no timeout of its
// own: the per-request timeout bounds each call).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTimeout bounds one request, streaming included (LLM_TIMEOUT).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// New returns a client for baseURL (e.g. https://api.openai.com/v1).
func New(baseURL, apiKey, model string, opts ...Option) *Client {
	c := &Client{
		endpoint: strings.TrimRight(baseURL, "/") + "/chat/completions",
		apiKey:   apiKey, model: model, timeout: 60 * time.Second,
		http: &http.Client{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ChatMessage is one message of the chat completions API.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []ChatMessage `json:"messages"`
	Stream      bool          `json:"stream"`
	Temperature float64       `json:"temperature"`
}

// chunk is one streamed event; message is the non-streamed answer of a
// server that ignores stream=true.
type chunk struct {
	Choices []struct {
		Delta   struct{ Content string } `json:"delta"`
		Message struct{ Content string } `json:"message"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Draft asks the model for a turn's reply and workflow.
func (c *Client) Draft(ctx context.Context, req agent.DraftRequest) (agent.Answer, error) {
	text, err := c.Complete(ctx, messages(req))
	if err != nil {
		return agent.Answer{}, err
	}
	ans, err := parseAnswer(text)
	ans.Raw = text
	return ans, err
}

// Complete sends the messages and returns the streamed text.
func (c *Client) Complete(ctx context.Context, msgs []ChatMessage) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	body, err := json.Marshal(chatRequest{Model: c.model, Messages: msgs, Stream: true, Temperature: temperature})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("chat completions: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return "", fmt.Errorf("chat completions: status %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return readWhole(resp.Body)
	}
	return readStream(resp.Body)
}

// readStream reads `data: {…}` events until `data: [DONE]`. A stream that
// ends without [DONE] was cut off and is an error, not a short answer.
func readStream(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var text strings.Builder
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // comments, event names, ids, blank separators
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			return text.String(), nil
		}
		var ch chunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return "", fmt.Errorf("chat completions: bad event %q: %w", truncate(data, 200), err)
		}
		if ch.Error != nil {
			return "", fmt.Errorf("chat completions: %s", ch.Error.Message)
		}
		for _, choice := range ch.Choices {
			text.WriteString(choice.Delta.Content)
		}
		if text.Len() > maxAnswerBytes {
			return "", fmt.Errorf("%w: longer than %d bytes", agent.ErrInvalidAnswer, maxAnswerBytes)
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("chat completions: reading the stream: %w", err)
	}
	return "", errors.New("chat completions: the stream ended without [DONE]")
}

func readWhole(r io.Reader) (string, error) {
	var ch chunk
	if err := json.NewDecoder(io.LimitReader(r, maxAnswerBytes)).Decode(&ch); err != nil {
		return "", fmt.Errorf("chat completions: %w", err)
	}
	if ch.Error != nil {
		return "", fmt.Errorf("chat completions: %s", ch.Error.Message)
	}
	if len(ch.Choices) == 0 {
		return "", errors.New("chat completions: no choices")
	}
	return ch.Choices[0].Message.Content, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
