package notify

// webhook POSTs the Message itself: the documented JSON schema
// (docs/notifications.md) for receivers of one's own.
type webhook struct{}

func init() { register(webhook{}) }

func (webhook) Name() string       { return "webhook" }
func (webhook) Body(m Message) any { return m }
func (webhook) SecretURL() bool    { return false }
