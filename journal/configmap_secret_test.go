package journal

import (
	"encoding/json"
	"strings"
	"testing"
)

// The ConfigMap journal refuses to keep a Secret's previous data (the view
// role reads ConfigMaps); other records, and a Secret the run creates, pass.
func TestConfigMapJournalRefusesSecretData(t *testing.T) {
	rec := func(s string) Entry { return Entry{Kind: KindRecord, Stage: "creds", Data: json.RawMessage(s)} }
	err := noSecretData([]Entry{rec(`{"apiVersion":"v1","kind":"Secret","name":"db","existed":true,"object":{"data":{"p":"eA=="}}}`)})
	if err == nil || !strings.Contains(err.Error(), "secret/db") || !strings.Contains(err.Error(), "--state secret") {
		t.Fatalf("got %v", err)
	}
	for _, ok := range []string{
		`{"apiVersion":"v1","kind":"Secret","name":"db","existed":false}`,
		`{"apiVersion":"v1","kind":"ConfigMap","name":"c","existed":true,"object":{"data":{"k":"v"}}}`,
	} {
		if err := noSecretData([]Entry{rec(ok)}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
