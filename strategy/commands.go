package strategy

import "context"

// CommandSource hands the loop operator commands (unwind, flatten, halt, resume …) queued for the account.
type CommandSource interface {
	// Run executes every pending command with the loop's executor and state.
	Run(ctx context.Context, e *Engine) error
}

func (e *Engine) runCommands(ctx context.Context) error { return e.Commands.Run(ctx, e) }
