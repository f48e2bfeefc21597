package lint

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// scriptSleep adds up the `sleep` commands of a shell script, the time a
// preStop hook holds the pod. Commands run one after the other, so sleeps
// add. ok is false when no sleep has a literal duration ("sleep $DELAY").
func scriptSleep(script string) (secs float64, ok bool) {
	for _, cmd := range splitCommands(script) {
		words := strings.Fields(cmd)
		// Keywords and prefixes that leave the command itself unchanged.
		for len(words) > 0 && prefixes[words[0]] {
			words = words[1:]
		}
		if len(words) == 0 || words[0][strings.LastIndex(words[0], "/")+1:] != "sleep" {
			continue
		}
		// GNU sleep sums its arguments ("sleep 1m 30s").
		for _, w := range words[1:] {
			d, good := sleepArg(strings.Trim(w, `"'`))
			if !good {
				return 0, false
			}
			secs += d
			ok = true
		}
	}
	return secs, ok
}

var prefixes = map[string]bool{"then": true, "else": true, "do": true, "!": true, "exec": true, "command": true, "time": true}

// splitCommands cuts a script at ; & | and newlines, which is enough to
// find the simple commands a preStop script is made of.
func splitCommands(script string) []string {
	return strings.FieldsFunc(script, func(r rune) bool {
		return r == ';' || r == '&' || r == '|' || r == '\n' || r == '(' || r == ')' || r == '{' || r == '}'
	})
}

// sleepArg parses one argument of sleep(1): a number with an optional
// s/m/h/d suffix.
func sleepArg(s string) (float64, bool) {
	if s == "infinity" || s == "inf" {
		return math.Inf(1), true
	}
	mult := 1.0
	if s != "" && unicode.IsLetter(rune(s[len(s)-1])) {
		switch s[len(s)-1] {
		case 's':
		case 'm':
			mult = 60
		case 'h':
			mult = 3600
		case 'd':
			mult = 86400
		default:
			return 0, false
		}
		s = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return f * mult, true
}
