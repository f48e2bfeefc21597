// Package callout is the one way cutover calls out of its own process: an
// HTTP request (the http step, the http, probe and prometheus analysis
// providers) or a local command (the exec step and the exec analysis
// provider). Everything a caller must get right the same way lives here:
// credentials that stay with the origin they were meant for, no TLS
// downgrade on a redirect, bounded response bodies and outputs, URLs shown
// without secrets, and commands that leave nothing running when they are
// cancelled. Callers keep only what differs: their messages and results.
package callout
