package config

import "github.com/agext/levenshtein"

// suggest returns the known name closest to name, when it is close enough to
// be a likely typo.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := levenshtein.Distance(name, k, nil); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// Suggest is suggest for the commands (a misspelt template name).
func Suggest(name string, known []string) string { return suggest(name, known) }
