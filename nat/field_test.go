package nat

import (
	"fmt"
	"testing"
)

// TestEveryFieldIsNamed: the front ends' tests walk the fields while
// String names them, so a field without a name would escape them.
func TestEveryFieldIsNamed(t *testing.T) {
	for f := FieldOther; f < fieldCount; f++ {
		if f.String() == fmt.Sprintf("field(%d)", int(f)) {
			t.Errorf("Field %d has no name in fieldNames", int(f))
		}
	}
	if got := fieldCount.String(); got != fmt.Sprintf("field(%d)", int(fieldCount)) {
		t.Errorf("the value past the last field is named %q", got)
	}
}
