package risk

// Level is a rung of the action ladder, in order of severity.
type Level uint8

// Levels. Each has a liquidation-distance threshold (risk.*_distance) and, except halt, a margin-ratio
// threshold (risk.*_margin_ratio); each has an on/off switch (risk.actions.*).
const (
	LevelNone       Level = iota // nothing to do
	LevelTopup                   // move spot quote asset into futures margin
	LevelDeleverage              // reduce both legs of the pair by deleverage_fraction
	LevelFlatten                 // close both legs of the pair
	LevelHalt                    // stop the account: trading state halted, an operator must resume
)

var levelNames = [...]string{"none", "topup", "deleverage", "flatten", "halt"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "unknown"
}

// ConfigKey is the configuration switch of the level's action.
func (l Level) ConfigKey() string { return "risk.actions." + l.String() }
