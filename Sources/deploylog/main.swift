print("deploylog: under construction")
