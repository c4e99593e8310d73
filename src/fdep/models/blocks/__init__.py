"""Building blocks shared inside the zoo: generic layers and the blocks of each network family."""
