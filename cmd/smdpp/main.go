// Command smdpp is the SM-DP+ server and its administration tool.
//
//	smdpp serve [flags]          run the HTTPS SM-DP+ (ES9+, ES2+, health)
//	smdpp pki init [flags]       write a development PKI (CI, DPauth, DPpb, DPtls, EUM, eUICCs)
//	smdpp order create [flags]   import a profile package, order and release it, print its activation code
//	smdpp import [flags]         bulk-import personalised profiles into a pool
//	smdpp usage [flags]          export an operator's usage records
//	smdpp pools [flags]          show pool levels and low-water marks
//
// Run a command with --help for its flags. This package only wires the others together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: smdpp <command> [flags]

commands:
  serve       run the SM-DP+ (HTTPS: ES9+, ES2+, /healthz, /readyz)
  pki init    write a development PKI for one curve (nist or brainpool)
  order create  import a profile package, order and release it, print its activation code
  import      bulk-import personalised profiles from a CSV or JSON file into a pool (--dry-run first)
  usage       export an operator's usage records (CSV or JSON) for a time range
  pools       show pool levels and low-water marks

Run "smdpp <command> --help" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smdpp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:])
	case "pki":
		if len(args) < 2 || args[1] != "init" {
			return errors.New(`usage: smdpp pki init [flags]`)
		}
		return pkiInit(args[2:])
	case "order":
		if len(args) < 2 || args[1] != "create" {
			return errors.New(`usage: smdpp order create [flags]`)
		}
		return orderCreate(ctx, args[2:])
	case "import":
		return inventoryImport(ctx, args[1:])
	case "usage":
		return inventoryUsage(ctx, args[1:])
	case "pools":
		return inventoryPools(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(os.Stdout, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
