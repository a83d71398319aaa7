// Package deploy holds carry's deployment artefacts for a VPS: the hardened systemd unit (carry.service)
// and the Grafana dashboard (grafana-dashboard.json). It has no code; its tests keep the artefacts true to
// the code: every series the dashboard queries is one pkg/telemetry registers, with labels it has, and the
// unit's command line, exit codes, environment and stop timeout match cmd/carry and pkg/config.
package deploy
