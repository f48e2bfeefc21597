// Package words writes counts and articles in messages correctly:
// "1 stage", "2 stages", "an object", "a number".
package words

import (
	"strconv"
	"strings"
)

// Count is n followed by noun, plural unless n is 1 ("1 stage", "0 stages").
// Nouns ending in s, x, ch or sh take "es"; a consonant then y takes "ies".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + Plural(noun)
}

// Noun is noun as n of it take: "stage" for 1, "stages" otherwise.
func Noun(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return Plural(noun)
}

// Plural is noun's regular English plural.
func Plural(noun string) string {
	switch {
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"),
		strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return noun + "es"
	case len(noun) > 1 && strings.HasSuffix(noun, "y") && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// A is word with its indefinite article: "an object", "a number". It goes by
// the first letter, which is right for every word cutover's messages use
// (type names, kinds); a quoted word is judged by its first letter too.
func A(word string) string {
	first := strings.TrimLeft(word, "\"'`")
	if first != "" && strings.ContainsRune("aeiouAEIOU", rune(first[0])) {
		return "an " + word
	}
	return "a " + word
}

// Or is names as a sentence: "a", "a or b", "a, b or c".
func Or(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Shell is s as one word of a shell command line: as it is when it holds
// only letters, digits and _-./, else single-quoted, so a command a
// message suggests (a stage approval["20"], a pipeline path with spaces)
// runs as printed.
func Shell(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
