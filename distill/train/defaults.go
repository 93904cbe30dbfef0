package train

// OrDefault returns v when it is positive, else d: the rule for the integer options of Mimicry's
// jobs, where 0 (and a negative value, unless an option says otherwise) takes the default.
func OrDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
