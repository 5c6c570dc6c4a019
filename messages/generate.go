package messages

//go:generate go run ./internal/cmd/schemagen
