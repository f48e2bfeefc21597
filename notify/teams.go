package notify

// teams is a Microsoft Teams incoming webhook's payload (a Workflows or
// connector webhook): a message with one Adaptive Card holding the text,
// the error or question, the facts and a button to the CI job. The
// webhook's URL is its credential.
type teams struct{}

func init() { register(teams{}) }

func (teams) Name() string    { return "teams" }
func (teams) SecretURL() bool { return true }

func (teams) Body(m Message) any {
	color := map[string]string{Failed: "Attention", Undone: "Warning", Paused: "Accent", Succeeded: "Good"}[m.Event]
	if color == "" {
		color = "Default"
	}
	body := []any{
		map[string]any{"type": "TextBlock", "text": m.Text, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true},
	}
	text := func(s string, mono bool) {
		b := map[string]any{"type": "TextBlock", "text": s, "wrap": true}
		if mono {
			b["fontType"] = "Monospace"
		}
		body = append(body, b)
	}
	if m.Detail != "" {
		text(m.Detail, false)
	}
	if m.Error != "" {
		text(m.Error, true)
	}
	if m.Approve != "" {
		text("Approve: "+m.Approve, true)
		text("Abort: "+m.Abort, true)
	}
	for _, p := range m.UndoPending {
		text("Left for a person: "+p, false)
	}
	var facts []any
	for _, f := range m.Facts() {
		facts = append(facts, map[string]any{"title": f.Name, "value": f.Value})
	}
	body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if m.CI != nil {
		card["actions"] = []any{map[string]any{"type": "Action.OpenUrl", "title": "Open the " + m.CI.Provider + " job", "url": m.CI.URL}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	}
}
