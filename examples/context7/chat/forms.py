from django import forms


class MessageForm(forms.Form):
    text = forms.CharField(
        label="Mesaj",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "Bir mesaj yazın…", "autofocus": True}),
    )
