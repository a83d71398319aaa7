package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

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
	return cmd
}
