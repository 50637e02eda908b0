package cycle

import "strconv"

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
