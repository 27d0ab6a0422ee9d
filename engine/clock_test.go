package engine

import (
	"sync"
	"testing"
	"time"
)

func TestManualClock_Advance(t *testing.T) {
	c := NewManualClock(testEpoch)
	if got := c.Now(); !got.Equal(testEpoch) {
		t.Fatalf("Now = %v, want %v", got, testEpoch)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now().Sub(testEpoch), 800*time.Second; got != want {
		t.Errorf("advanced by %v, want %v", got, want)
	}
}

func TestManualClock_AdvanceNegativePanics(t *testing.T) {
	c := NewManualClock(testEpoch)
	defer func() {
		if recover() == nil {
			t.Error("Advance(-1s) did not panic")
		}
		if got := c.Now(); !got.Equal(testEpoch) {
			t.Errorf("Now = %v after a refused Advance, want %v", got, testEpoch)
		}
	}()
	c.Advance(-time.Second)
}

// TestConfig_ClockDefault: a Config without a Clock runs on the real one.
func TestConfig_ClockDefault(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	got := cfg.Clock.Now()
	if got.Before(before) || got.After(time.Now()) {
		t.Errorf("the default clock read %v, not the time now", got)
	}
}
