package notify

import (
	"fmt"
	"strings"
)

// slack is a Slack incoming webhook's payload: a text (what notifications
// and screen readers show) and blocks (a header, the error or question,
// the facts, a link to the CI job). An incoming webhook's URL is its
// credential.
type slack struct{}

func init() { register(slack{}) }

func (slack) Name() string    { return "slack" }
func (slack) SecretURL() bool { return true }

// Slack's limits: a header's text 150 characters, a section's 3000, ten
// fields per section.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldsMax  = 10
)

func (slack) Body(m Message) any {
	blocks := []any{
		map[string]any{"type": "header", "text": slackText("plain_text", clip(m.Text, slackHeaderMax))},
	}
	section := func(md string) {
		blocks = append(blocks, map[string]any{"type": "section", "text": slackText("mrkdwn", clip(md, slackSectionMax))})
	}
	if m.Detail != "" {
		section(slackEscape(m.Detail))
	}
	if m.Error != "" {
		section("```" + slackEscape(clip(m.Error, slackSectionMax-6)) + "```")
	}
	if m.Approve != "" {
		section(fmt.Sprintf("Approve: `%s`\nAbort: `%s`", slackEscape(m.Approve), slackEscape(m.Abort)))
	}
	if len(m.UndoPending) > 0 {
		section("*Left for a person:*\n• " + slackEscape(strings.Join(m.UndoPending, "\n• ")))
	}
	var fields []any
	for _, f := range m.Facts() {
		if len(fields) < slackFieldsMax {
			fields = append(fields, slackText("mrkdwn", fmt.Sprintf("*%s*\n%s", f.Name, slackEscape(f.Value))))
		}
	}
	blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	if m.CI != nil {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{
			slackText("mrkdwn", fmt.Sprintf("<%s|%s job>", m.CI.URL, slackEscape(m.CI.Provider))),
		}})
	}
	return map[string]any{"text": m.Text, "blocks": blocks}
}

func slackText(typ, text string) map[string]any {
	return map[string]any{"type": typ, "text": text}
}

// slackEscape escapes what Slack's mrkdwn reads as markup: &, < and >.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip cuts s to at most n characters, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
