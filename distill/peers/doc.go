// Package peers puts Mimicry side by side with the Python libraries its users know —
// sentence-transformers and PyLate — on the same models and data: interop both ways (models
// exported by one load in the other with the same numbers; answer keys convert to and from their
// distillation datasets; interop.py and interop_test.go), and the same training runs compared on
// quality and speed (sidebyside.py, README "Against sentence-transformers and PyLate"). The Python
// side needs the extras of docker/requirements.txt; the tests skip with a message without them.
package peers
