"""The desk (/desk/): the browser pages of agency admins and the justice bureau (issue 11)."""
