"""Work allocation: the inspection programme as a routing problem read from the database
(`problem.allocation_problem`), and the solver's routes timed on the booking grid (`timing.fit`)."""
