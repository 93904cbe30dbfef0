package train

func OrDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
