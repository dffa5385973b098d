package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wfagent/gateway/services/workflow-engine/internal/expreval"
)

// LLMConfig is the engine's OpenAI-compatible chat completions endpoint.
type LLMConfig struct {
	// BaseURL such as https://api.openai.com/v1; empty: AI nodes fail with
	// a clear error.
	BaseURL string
	APIKey  string
	Model   string
	Timeout time.Duration
	// Client is a plain client: the endpoint is the operator's, not a
	// workflow author's, so it is not subject to the SSRF guard.
	Client *http.Client
}

// ErrLLMNotConfigured is the node error when LLM_BASE_URL is empty.
var ErrLLMNotConfigured = errors.New("AI_AGENT_NODE.OPENAI needs an OpenAI-compatible endpoint: LLM_BASE_URL is not configured on this engine")

const maxLLMResponseBytes = 4 << 20

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model          string            `json:"model"`
	Messages       []chatMessage     `json:"messages"`
	Temperature    *float64          `json:"temperature,omitempty"`
	MaxTokens      int               `json:"max_tokens,omitempty"`
	ResponseFormat map[string]string `json:"response_format,omitempty"`
}

type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message      chatMessage `json:"message"`
		FinishReason string      `json:"finish_reason"`
	} `json:"choices"`
	Usage map[string]any `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// runOpenAI sends the prompt (templates filled in) to the chat completions
// endpoint and outputs {text, model, finish_reason, usage}; with
// response_format json it asks for a JSON object and outputs it parsed.
func (r *Runner) runOpenAI(ctx context.Context, in Input) (Output, error) {
	cfg := r.o.LLM
	if cfg.BaseURL == "" {
		return Output{}, Permanent(ErrLLMNotConfigured)
	}
	p := in.Node.Parameters
	prompt, err := expreval.RenderString(str(p, "prompt"), in.Env)
	if err != nil {
		return Output{}, Permanent(fmt.Errorf("prompt: %w", err))
	}
	system, err := expreval.RenderString(str(p, "system_prompt"), in.Env)
	if err != nil {
		return Output{}, Permanent(fmt.Errorf("system_prompt: %w", err))
	}
	req := chatRequest{Model: str(p, "model")}
	if req.Model == "" {
		req.Model = cfg.Model
	}
	if system != "" {
		req.Messages = append(req.Messages, chatMessage{Role: "system", Content: system})
	}
	req.Messages = append(req.Messages, chatMessage{Role: "user", Content: prompt})
	if t, ok := num(p, "temperature"); ok {
		req.Temperature = &t
	}
	if m, ok := num(p, "max_tokens"); ok {
		req.MaxTokens = int(m)
	}
	jsonMode := str(p, "response_format") == "json"
	if jsonMode {
		req.ResponseFormat = map[string]string{"type": "json_object"}
	}
	body, _ := json.Marshal(req)

	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cfg.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return Output{}, Permanent(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	key, _ := in.Node.Credentials["api_key"].(string)
	if key == "" {
		key = cfg.APIKey
	}
	if key != "" {
		hr.Header.Set("Authorization", "Bearer "+key)
	}
	client := cfg.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hr)
	if err != nil {
		return Output{}, fmt.Errorf("LLM endpoint: %w", unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLLMResponseBytes))
	if err != nil {
		return Output{}, fmt.Errorf("LLM endpoint: reading the answer: %w", err)
	}
	var cr chatResponse
	jsonErr := json.Unmarshal(data, &cr)
	if resp.StatusCode >= 400 {
		msg := snippet(data)
		if jsonErr == nil && cr.Error != nil && cr.Error.Message != "" {
			msg = cr.Error.Message
		}
		err := fmt.Errorf("LLM endpoint: HTTP %d: %s", resp.StatusCode, msg)
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return Output{}, Permanent(err)
		}
		return Output{}, err
	}
	if jsonErr != nil || len(cr.Choices) == 0 {
		return Output{}, fmt.Errorf("LLM endpoint: not a chat completion: %s", snippet(data))
	}
	choice := cr.Choices[0]
	if jsonMode {
		var obj any
		if err := json.Unmarshal([]byte(choice.Message.Content), &obj); err != nil {
			return Output{}, fmt.Errorf("LLM answer is not the JSON asked for: %s", snippet([]byte(choice.Message.Content)))
		}
		return Output{Value: obj}, nil
	}
	return Output{Value: map[string]any{"text": choice.Message.Content, "model": cr.Model, "finish_reason": choice.FinishReason, "usage": cr.Usage}}, nil
}
