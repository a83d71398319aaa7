// Package risk decides and explains; it never places orders. A cash-and-carry position loses money in
// exactly two ways — the hedge drifts, or the short perp is liquidated in a rally while the spot leg sits in
// another wallet — and risk watches both, decides before the exchange does, and holds the operator's switch.
// The executor carries its decisions out. Everything is exact decimal math; the same code runs in backtest,
// paper and live.
//
// # What it measures
//
//   - Hedge ratio per pair: net spot ÷ perp quantity (carry: base held net of fees charged in base; reverse:
//     base owed). A drift beyond risk.hedge_drift_band AND more than one lot step (the coarser of the two
//     legs' steps) gets a corrective order on the right leg (CheckHedge explains which leg).
//   - Margin ratio per margin pool (the cross wallet with its positions, or one isolated position):
//     maintenance ÷ margin balance, liquidation at 1.
//   - Liquidation price per position from Binance's formula with the leverage brackets re-solved
//     (exchange.LiquidationPrice: cross WB = cross wallet with TMM1/UPNL1 of the other cross positions,
//     isolated WB = isolated wallet), its distance from the mark, and its divergence from the venue's
//     reported price beyond risk.liquidation_divergence (a note; live mode alerts on it). The wallet must be
//     the current one, after funding: funding paid out of margin moves the liquidation price.
//
// # The action ladder
//
// Each position stands on a rung: the most severe of the rung its liquidation distance reaches
// (distance ≤ topup_distance, deleverage_distance, flatten_distance, halt_distance) and the rung its pool's
// margin ratio reaches (ratio ≥ topup_margin_ratio, deleverage_margin_ratio, flatten_margin_ratio). Rungs:
//
//  1. top up: transfer spot quote asset into futures margin — the amount that puts every position asking
//     for it back at topup_target_distance (closed form: the liquidation price is linear in the wallet, see
//     WalletForLiquidation; verified by recomputing) and, when the margin ratio asked, the ratio back at
//     topup_margin_ratio × topup_distance ÷ topup_target_distance (the ratio is roughly MMR ÷ distance, so
//     this restores the same headroom). Capped by the free spot quote asset; one transfer per pool.
//  2. deleverage: take deleverage_fraction off both legs of the pair, the same quantity on the coarser
//     step, so the pair stays hedged (raised to the smallest quantity the spot leg accepts; a pair too small
//     to split is flattened).
//  3. flatten: close both legs of the pair.
//  4. halt: set the account's trading state to halted; an operator must resume.
//
// Each action has a switch (risk.actions.*). The action taken is the most severe ENABLED one at or below
// the position's rung. A disabled action is skipped with a note and does NOT escalate: the next more severe
// action is considered only when its own threshold is reached — turning flatten off must not make the bot
// halt at the flatten threshold — while the less severe enabled actions keep working (with flatten off, a
// position past flatten_distance keeps being deleveraged). A top-up that cannot be paid (no free quote)
// also does not escalate. Halt comes on top of the rung's own action (a flatten first, then the halt).
// A margin-ratio rung applies to every position of its pool; a distance rung to its own position.
//
// Cross margin (reverse carry) has the same ladder on margin-level rungs (see crossmargin.go).
//
// # The trigger-price monitor
//
// Evaluate is a full evaluation (brackets, divisions, reasons): fine on every account event, too slow for
// every price of a backtest. Monitor precomputes, whenever the account changes, the mark prices at which
// each position's next threshold would be crossed; a mark update is then one comparison of decimals of
// equal exponent, and a full evaluation runs only when a trigger is crossed. Cross positions that share a
// wallet get drift boxes so no crossing caused by another symbol can go unseen (see Monitor).
//
// # Pre-trade checks and limits
//
// PreTrade refuses an order that breaks the filters, the minimum notional (reduce-only futures exempt), a
// balance, the available futures margin, max_leverage, max_notional_per_symbol or max_notional_total, or
// the trading state — with a *exchange.RejectError{Kind: RejectRisk} whose reason names the limit and the
// numbers ("max_notional_total: 104,300.00 after this order > limit 100,000").
//
// # The trading state
//
// Per account: active (all orders the checks allow), reducing (only exposure-reducing orders), halted (no
// new orders; only exposure-reducing orders from risk or an operator, so a flatten can still save the
// account). StateTransitions is the one table of legal changes: risk and the system may only tighten
// (active → reducing → halted); only an operator loosens. Switch applies a change through a StateWriter
// (store.ChangeTradingState: compare-and-set in Postgres plus a risk event), so it survives restarts and
// the operator can flip it from the CLI.
package risk
