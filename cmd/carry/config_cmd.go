package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check or show the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration; exit 2 naming each problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.load(); err != nil {
				return err
			}
			src := "built-in defaults"
			if a.configFile != "" {
				src = a.configFile
			}
			fmt.Fprintf(cmd.OutOrStdout(), "configuration OK (%s, mode %s, account %s)\n", src, a.cfg.Mode, a.cfg.Account.Name)
			return nil
		},
	})
	var asJSON bool
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the merged configuration (defaults, file, environment) with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.load(); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(a.cfg.Map())
			}
			out, err := a.cfg.Render()
			if err != nil {
				return fmt.Errorf("rendering the configuration: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(show)
	return cmd
}
