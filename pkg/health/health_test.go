package health

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunBoundsEachCheck(t *testing.T) {
	checks := map[string]Check{
		"ok":    func(context.Context) error { return nil },
		"down":  func(context.Context) error { return errors.New("connection refused") },
		"hangs": func(ctx context.Context) error { select {} },
		"panic": func(context.Context) error { panic("boom") },
	}
	res := Run(context.Background(), checks, 50*time.Millisecond)
	if !res["ok"].OK || res["down"].OK || res["hangs"].OK || res["panic"].OK {
		t.Fatalf("results = %+v", res)
	}
	if res["down"].Error != "connection refused" || res["hangs"].Error != "timed out after 50ms" {
		t.Fatalf("errors = %+v", res)
	}
	if AllOK(res) {
		t.Fatal("AllOK true with failures")
	}
	if !AllOK(Run(context.Background(), map[string]Check{"a": checks["ok"]}, time.Second)) {
		t.Fatal("AllOK false with none failing")
	}
}
