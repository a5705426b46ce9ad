// Goroutines over GOMAXPROCS threads, the garbage collector, preemption of
// a spinning goroutine by SIGURG, os/exec, a notified signal and a timer:
// Go's runtime makes its own clone, futex, sigaltstack and signal calls,
// without a C library (test/e2e:goroutines).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	runtime.GOMAXPROCS(4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			s := 0
			for j := 0; j < 200000; j++ {
				s += j % (n + 1)
				if j%50000 == 0 {
					_ = make([]byte, 1<<16)
				}
			}
			mu.Lock()
			total += s
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	fmt.Println("total", total)
	// With one P, main runs again only if the runtime preempts the
	// spinning goroutine (a loop without calls: by SIGURG).
	runtime.GOMAXPROCS(1)
	var stop atomic.Bool
	done := make(chan int)
	go func() {
		x := 0
		for !stop.Load() {
			x++
		}
		done <- x
	}()
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	fmt.Println("spinner preempted", <-done > 0)
	out, err := exec.Command("echo", "child").Output()
	fmt.Printf("exec %q %v\n", out, err)
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	fmt.Println("signal", <-c)
	t := time.NewTimer(50 * time.Millisecond)
	<-t.C
	fmt.Println("timer fired")
}
