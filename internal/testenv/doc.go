// Package testenv starts real protocol peers on 127.0.0.1 for tests: a
// Kafka-protocol cluster (kfake, three brokers), a Debian redis-server, a
// Debian docker-registry with htpasswd bcrypt authentication, and
// go-containerregistry's in-process registry.
//
// A peer whose binary is missing fails the test with the command that
// installs it; nothing is skipped. Packages that use Redis should call
// Main from TestMain so the shared server is stopped after the tests.
package testenv
