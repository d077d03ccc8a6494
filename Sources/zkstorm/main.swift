print("zkstorm")
