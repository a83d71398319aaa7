package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/carry-trading/carry/exchange/binance/fakebinance"
	"github.com/carry-trading/carry/pkg/pglocal"
)

// devCmd holds developer tools; hidden from help.
func (a *app) devCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dev", Short: "Developer tools", Hidden: true}
	var dir string
	cmd.AddCommand(&cobra.Command{
		Use:   "with-postgres -- COMMAND [ARGS...]",
		Short: "Run a command with DATABASE_URL pointing at a throwaway Postgres, removed afterwards",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			d := dir
			if d == "" {
				tmp, err := os.MkdirTemp("", "carrypg")
				if err != nil {
					return err
				}
				d = tmp
			}
			if err := os.Chmod(d, 0o755); err != nil {
				return err
			}
			c, err := pglocal.Start(ctx, pglocal.Options{Dir: d, Throwaway: true})
			if err != nil {
				_ = os.RemoveAll(d)
				return err
			}
			defer func() {
				if err := c.Remove(context.Background()); err != nil {
					fmt.Fprintln(os.Stderr, "carry dev:", err)
				}
			}()
			run := exec.Command(args[0], args[1:]...)
			run.Stdin, run.Stdout, run.Stderr = os.Stdin, os.Stdout, os.Stderr
			run.Env = append(os.Environ(), "DATABASE_URL="+c.URL())
			if err := run.Run(); err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return withCode(ee.ExitCode(), fmt.Errorf("%s exited with status %d", args[0], ee.ExitCode()))
				}
				return err
			}
			return nil
		},
	})
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "cluster directory (default: a new temporary directory)")
	cmd.AddCommand(fakeBinanceCmd())
	return cmd
}

// fakeBinanceCmd runs the fake Binance server (exchange/binance/fakebinance) on loopback, for end-to-end
// tests and demos without internet: it prints its URLs as JSON, then the CARRY_BINANCE_* settings, and
// serves until SIGTERM/SIGINT. Its control API is under /_fake.
func fakeBinanceCmd() *cobra.Command {
	var addr string
	var withdrawals bool
	cmd := &cobra.Command{
		Use:   "fake-binance",
		Short: "Serve a fake Binance (REST + websockets) on loopback for tests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := fakebinance.Options{Addr: addr}
			if withdrawals {
				p := fakebinance.DefaultPermissions()
				p.EnableWithdrawals = true
				opts.Permissions = &p
			}
			srv, err := fakebinance.Start(opts)
			if err != nil {
				return err
			}
			defer srv.Close()
			u := srv.URLs()
			out := cmd.OutOrStdout()
			if err := json.NewEncoder(out).Encode(u); err != nil {
				return err
			}
			fmt.Fprintf(out, "CARRY_BINANCE_SPOT_REST_URL=%s\nCARRY_BINANCE_FUTURES_REST_URL=%s\nCARRY_BINANCE_SPOT_WS_URL=%s\nCARRY_BINANCE_SPOT_WS_API_URL=%s\nCARRY_BINANCE_FUTURES_WS_URL=%s\n",
				u.SpotREST, u.FuturesREST, u.SpotWS, u.SpotWSAPI, u.FuturesWS)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address")
	cmd.Flags().BoolVar(&withdrawals, "withdrawals", false, "report the key as able to withdraw (start-up must refuse it)")
	return cmd
}
