print("deploylog-bench: under construction")
