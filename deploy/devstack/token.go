package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/wfagent/gateway/pkg/auth"
)

// printToken mints a Supabase-shaped access token the running dev stack
// accepts (`make token SUB=<uuid> [EMAIL=…]`); the token is the last line.
func printToken(cfg Config, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", DevUserID, "user id (a UUID)")
	email := fs.String("email", "", "e-mail claim")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, err := auth.MintDevToken(cfg.Auth, cfg.Environment, *sub, *email, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
