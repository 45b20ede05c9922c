"""Route solving, pure: plain data in (`problem`), plain data out. No Django, no database.

`problem` names what a routing question is (vehicles = an officer on a day, stops = visits); `matrix` turns
points into travel times and distances (straight line by default); `solver` answers with a real VRP solver
(PyVRP); `greedy` is the nearest-free-officer baseline the benchmarks compare with; `solomon` reads the
literature's VRPTW instances.
"""
