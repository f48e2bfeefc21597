package config

import (
	"testing"

	"github.com/cutoverhq/cutover/steps"
)

// Every top-level block the decoder reads is in Language, in its order:
// a new block without a body there panics here, not in `cutover schema`.
func TestLanguageCoversEveryBlock(t *testing.T) {
	blocks := Language(steps.NewRegistry())
	if len(blocks) != len(rootSchema.Blocks) {
		t.Fatalf("%d blocks, want %d", len(blocks), len(rootSchema.Blocks))
	}
	for i, h := range rootSchema.Blocks {
		if blocks[i].Type != h.Type {
			t.Errorf("block %d is %q, want %q", i, blocks[i].Type, h.Type)
		}
	}
}
